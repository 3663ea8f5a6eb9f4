"""`cpw simulate SCENARIO --deployment DIR`: the real index inside a run, from the command line."""

import json


def test_cpw_simulate_with_a_deployment(cpw, deployment, deployed_scenario, tmp_path):
    """`cpw simulate --deployment DIR` runs through the real index; a bad one is one line."""
    scenario = deployed_scenario(tmp_path, tmp_path).read_text().replace("replications = 2", "")
    path = tmp_path / "cli.toml"
    path.write_text(scenario.replace("seed = 5\n", "seed = 5\nreplications = 1\n"))
    done = cpw("simulate", str(path), "--deployment", str(deployment), "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["deployment"] == str(
        deployment
    )
    bad = cpw("simulate", str(path), "--deployment", str(tmp_path / "x"), "--out", str(tmp_path))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
