"""Two CPU processes through torchrun (gloo): DDP-style training ends with identical weights on
both ranks, and only rank 0 writes the run folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from helpers import ROOT
from trainer_support import tiny_cli_args, write_texture_folder
from trainer.archs import build_arch
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.distributed import weights_digest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_cpu_run_keeps_ranks_identical(tmp_path):
    data = write_texture_folder(tmp_path / "data")
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    # Adaptive augmentation on: each rank moves p by the real logits of both (16 per adjustment).
    ada = ["--augment", "translation,color,cutout", "--ada-target", "0.01", "--ada-kimg", "0.016"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", "-m", "trainer", *tiny_cli_args(data, run, steps=8), *ada]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2
    digests = summary["rank_weight_digests"]
    assert len(digests) == 2 and digests[0] == digests[1] and summary["ranks_identical"]
    ps = summary["rank_augment_p"]
    assert len(ps) == 2 and ps[0] == ps[1]

    # The digest both ranks reported is that of the weights rank 0 saved.
    ckpt = load_checkpoint(run / "checkpoint.pt")
    arch = build_arch(TrainConfig.from_dict(ckpt["config"]))
    nets = [arch.build_generator(), arch.build_discriminator(), arch.build_generator()]
    for net, key in zip(nets, ("G", "D", "G_ema")):
        net.load_state_dict(ckpt[key])
    assert weights_digest(*nets) == digests[0]
    assert len(ckpt["rng"]) == 2 and len(ckpt["sampler"]) == 2  # every rank's streams, for an exact resume
    assert ckpt["rng"][0]["torch"].tolist() != ckpt["rng"][1]["torch"].tolist()  # ranks draw different noise

    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines() if "d_loss" in line]
    assert steps == [1, 2, 3, 4, 5, 6, 7, 8]  # one writer: every step logged once
    assert ckpt["augment"]["p"] == ps[0]
    signals = [json.loads(line).get("d_real_sign") for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r * 16 == round(r * 16) for r in signals if r is not None] == [True] * 5  # over both ranks' 16 reals
    assert proc.stderr.count("SWD real-vs-real floor") == 1
