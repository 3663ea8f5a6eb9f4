"""The index in a browser: a thin web layer (FastAPI, server-rendered Jinja2) over the facade.

Every route parses a form, calls the facade (sim.index.service.ContactPoint) and renders what
it returns; every refusal shown is the facade's audited refusal. `cpw serve DEPLOYMENT` starts
it (sim.cli.serve); `create_app` builds it for tests.
"""
