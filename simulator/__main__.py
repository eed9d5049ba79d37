from simulator.main import main

raise SystemExit(main())
