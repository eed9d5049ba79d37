from tenant_api.main import main

raise SystemExit(main())
