from paas_billing.cli import main

raise SystemExit(main())
