"""The dashboard (issue 17): an org's usage and costs in the browser, at `/` of the API.

Server-rendered HTML (Jinja2 templates and a stylesheet shipped in the package), charts
drawn as SVG on the server, no script. Modules: `signin` (the UAA's authorization-code flow,
sign out) with `oauth` (the API as a UAA client), `sessions` (signed-in browsers and
sign-ins in progress, kept in the browser's cookies) and `sealing` (those cookies encrypted
with a key every replica shares); `guard` (the session cookie to a verified caller);
`routes` (the pages, access decided by `tenant_api.access` as for `/v1`); `figures` and
`daily` (the reporters' bill and usage code over the API's pool); `views`, `warnings`,
`charts`, `lines_csv` (what the pages print); `pages` (templates, headers, errors as pages);
`months`; `state`; `install` wires it.
"""
