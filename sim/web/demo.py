"""`make demo`'s last step: a small demo deployment for the web interface, and how to open it.

Made once (Bolton at 2% scale, a few seconds) under runs/demo-web and reused after; its web
settings make loopback count as the demo users' networks, for a demonstration on one machine.

    .venv/bin/python -m sim.web.demo [DIRECTORY]
"""

import sys
from pathlib import Path

from sim.deployment.deploy import deploy
from sim.errors import WorkbenchError
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from sim.web.settings import settings_path, write_loopback_settings

DEFAULT = Path("runs/demo-web")
AUTHORITY = "E08000001"


def make_demo(root: Path) -> Path:
    """The demo deployment under `root`, made if it is not there yet."""
    deployment = root / "deployment"
    if not (deployment / "inventory.toml").is_file():
        population = root / "population"
        if not (population / "manifest.json").is_file():
            write_population(SynthRequest(seed=1, scale=0.02, authority_codes=(AUTHORITY,)),
                             population)  # fmt: skip
        deploy(population, deployment, seed=1, force=True)
    if not settings_path(deployment).is_file():
        write_loopback_settings(deployment, ["GCSx", "GSi"])
    return deployment


def instructions(deployment: Path) -> str:
    side = f"{deployment.parent / deployment.name}"
    return "\n".join([
        "The index in a browser, on the demo deployment:",
        f"  .venv/bin/cpw serve {deployment} --audit-key {side}.audit-public-key",
        "  then open http://127.0.0.1:8000/ (loopback only; Ctrl-C stops the server)",
        f"  demo users with their passwords, PINs and token secrets: {side}.credentials.json",
        "  the token code for the clock shown on the page:",
        '  .venv/bin/cpw index token code --secret SECRET --at "YYYY-MM-DDTHH:MM:SS"',
    ])  # fmt: skip


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    try:
        deployment = make_demo(root)
    except WorkbenchError as exc:
        print(f"cpw: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print(instructions(deployment))


if __name__ == "__main__":
    main()
