"""A fake Cloud Foundry API and UAA that serves a seeded, deterministic usage-event history.

Run `python -m simulator --help` (or `paas-billing simulate --help`) for the flags. In short:
`--events N --seed S [--start T --days D]` make the history (same flags, same bytes),
`--export-truth FILE` writes what really ran (see `simulator.truth`), `--live-rate R` keeps
events coming with some committing late, `--fault-rate`, `--token-ttl`, `--purge-at`,
`--prune-days` exercise the client's error paths; `--users FILE`, `--signing-key PEM` and
`--extra-token-keys N` set up UAA users, their org roles and the token keys. Tests start it with
`tests.simulator.fixtures.start_simulator(**flags)`.

Modules: `world` (the platform and its actions), `history` (pacing a world into a history),
`recorder`/`truth` (ground truth), `store` (event tables), `render` (v2/v3 shapes), `v2`/`v3`
(endpoints), `uaa`, `keys` and `access` (RS256 tokens, `/token_keys`, scopes), `users`,
`roles` and `v3_roles` (users from `--users`, `/v3/roles`), `api` (routing), `server`
(HTTP), `live` (live events, pruning, purge timer), `app` (assembly), `settings`/`main` (CLI).
"""
