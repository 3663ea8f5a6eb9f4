"""Synthetic England: wall time, peak memory, and speed-up over Faker one record at a time.

    .venv/bin/python bench/bench_synth.py [--scale 1.0] [--workers 2] [--faker-sample 5000]

Targets: England in <= 60 s wall and <= 8 GB peak on 2 cores; >= 100x over Faker.
The Faker baseline is measured in the same run on a sample and extrapolated. The population's
acceptance checks (sim.population.checks) then run on what was written.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import PeakMemory

from sim.population.checks import check_population
from sim.population.output import read_population


def faker_rate(sample: int) -> float:
    """Child records per second when Faker makes each field one call at a time.

    Fields: forename, middle name, surname, gender, date of birth, an ID, street, town, postcode,
    and one carer's forename, surname and phone, i.e. what `cpw synth` writes for a child.
    """
    fake = Faker("en_GB")
    fake.seed_instance(1)
    started = time.perf_counter()
    for _ in range(sample):
        fake.first_name()
        fake.first_name()
        fake.last_name()
        fake.random_element(("male", "female"))
        fake.date_of_birth(minimum_age=0, maximum_age=17)
        fake.bothify("??######?")
        fake.street_address()
        fake.city()
        fake.postcode()
        fake.first_name()
        fake.last_name()
        fake.phone_number()
    return sample / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--faker-sample", type=int, default=5_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "england"
        command = [
            sys.executable,
            "-m",
            "sim.cli",
            "synth",
            "--scale",
            str(args.scale),
            "--workers",
            str(args.workers),
            "--out",
            str(out),
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with PeakMemory(process.pid) as memory:
            _, stderr = process.communicate()
        wall = time.perf_counter() - started
        if process.returncode:
            sys.exit(f"cpw synth failed: {stderr.decode().strip()}")
        manifest = json.loads((out / "manifest.json").read_text())
        checks = check_population(read_population(out), args.scale)
    children = manifest["rows"]["children"]
    rate = faker_rate(args.faker_sample)
    faker_seconds = children / rate
    speedup = faker_seconds / wall
    gib = memory.peak / 2**30

    print(
        f"scale {args.scale:g}, workers {args.workers}: {children:,} children, "
        f"{manifest['rows']['households']:,} households, {manifest['rows']['carers']:,} carers"
    )
    print(f"cpw synth end to end (process start to files written): {wall:.1f} s wall")
    print(f"peak memory, process tree: {gib:.2f} GiB")
    print(
        f"Faker one record at a time: {rate:,.0f} child records/s on {args.faker_sample:,} "
        f"records -> {faker_seconds:,.0f} s extrapolated for {children:,}"
    )
    print(f"speed-up over Faker, end to end incl. households, services and parquet: {speedup:.0f}x")
    for check in checks:
        print(f"check {check.name}: {'pass' if check.passed else 'FAIL'} ({check.detail})")
    if args.scale == 1.0:
        for label, ok in [
            ("<= 60 s", wall <= 60),
            ("<= 8 GiB", gib <= 8),
            (">= 100x", speedup >= 100),
        ]:
            print(f"target {label}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
