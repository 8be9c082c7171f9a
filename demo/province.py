"""The simulated province: every department system ``hub demo`` runs the pipelines against.

Seeded: the same seed and size give the same files, database and records on every machine.
Each system is written into a workspace folder by its own module (one-stop, documents,
social protection, business registration, indicators, a level's copy of a catalogue), on the real geography of Bắc Giang
(``demo.geography``); together they return what they planted, which is written to
``manifest.json``: per source the rows it holds and how many the hub must quarantine under
each check, and the discrepancies between levels reconciliation must find (and nothing else).

    python -m demo.province WORKSPACE [--size small|large] [--seed 24]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
from pathlib import Path

import yaml

from demo import catalogues, documents, enterprises, indicators, meetings, onestop_data, social, telemedicine
from demo.geography import bac_giang

TEMPLATE = Path(__file__).with_name("sources.template.yaml")
SIZES = {
    "small": {"dossiers": 450, "documents_per_sender": 3, "social_districts": 5, "social_communes_2025": 4,
              "beneficiaries_per_commune": 2, "enterprises": 120, "periods": ["2025-06", "2025-09"],
              "consultations": 80},
    "large": {"dossiers": 40000, "documents_per_sender": 60, "social_districts": 10, "social_communes_2025": 58,
              "beneficiaries_per_commune": 60, "enterprises": 30000,
              "periods": [f"2025-{m:02d}" for m in range(1, 13)], "consultations": 5000},
}
FOLDERS = ("mot_cua", "edxml", "bao_tro_xa_hoi", "dkkd", "chi_tieu", "danh_muc", "y_te", "hop_truc_tuyen")


def fingerprint() -> str:
    """Of the generator's own code and template: a workspace made by other code is made again."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")) + [TEMPLATE]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def generate(workspace: Path, size: str = "small", seed: int = 24) -> dict:
    """Write every system of the province into ``workspace`` and return the manifest."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r} (known: {', '.join(SIZES)})")
    s, geo = SIZES[size], bac_giang()
    folders = {}
    for name in FOLDERS:
        folders[name] = workspace / name
        shutil.rmtree(folders[name], ignore_errors=True)
        folders[name].mkdir(parents=True)
    # one generator per system, each with a random stream of its own: a change to one system
    # does not move what another plants
    parts = [
        onestop_data.generate(folders["mot_cua"], geo, s["dossiers"], random.Random(f"{seed}/onestop")),
        documents.generate(folders["edxml"], geo, s["documents_per_sender"], random.Random(f"{seed}/edxml")),
        social.generate(folders["bao_tro_xa_hoi"], geo, districts=s["social_districts"],
                        communes_2025=s["social_communes_2025"], per_commune=s["beneficiaries_per_commune"],
                        rnd=random.Random(f"{seed}/social")),
        enterprises.generate(folders["dkkd"], geo, s["enterprises"], random.Random(f"{seed}/dkkd")),
        indicators.generate(folders["chi_tieu"], geo, s["periods"], random.Random(f"{seed}/indicators")),
        catalogues.generate(folders["danh_muc"], geo, random.Random(f"{seed}/catalogues")),
        telemedicine.generate(folders["y_te"], geo, s["consultations"], random.Random(f"{seed}/telemedicine")),
        meetings.generate(folders["hop_truc_tuyen"], geo, random.Random(f"{seed}/meetings")),
    ]
    manifest: dict = {"seed": seed, "size": size, "generator": fingerprint(), "sources": {}, "defects": {}, "findings": [],
                      "findings_2025": [], "within_tolerance": [], "unacknowledged": [],
                      "double_registered": [], "documents": {}}
    for part in parts:
        manifest["sources"].update(part["sources"])
        manifest["defects"].update(part.get("defects", {}))
        manifest["documents"].update(part.get("documents", {}))
        for key in ("findings", "findings_2025", "within_tolerance", "unacknowledged", "double_registered"):
            manifest[key] += part.get(key, [])
    (workspace / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")
    return manifest


def write_registry(workspace: Path, manifest: dict) -> Path:
    """The workspace's ``sources.yaml``: one entry per generated system, from the kinds' template
    (the REST servers' addresses and keys are their Airflow connections', never written here)."""
    kinds = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    entries = []
    for name, src in manifest["sources"].items():
        kind = kinds[src["kind"]]
        options = {**kind.get("options", {}), **src.get("options", {})}
        entries.append({"name": name, **kind, "options": options, "schedule": None})
    path = workspace / "sources.yaml"
    path.write_text("# Written by `hub demo` from demo/sources.template.yaml: the simulated province's systems.\n"
                    + yaml.safe_dump({"sources": entries}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=24)
    args = parser.parse_args()
    manifest = generate(args.workspace, args.size, args.seed)
    print(json.dumps({n: {"read": s["read"], "quarantined": s["quarantined"]} for n, s in manifest["sources"].items()},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
