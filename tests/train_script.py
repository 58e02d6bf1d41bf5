"""A training run for the trainer's process-level tests (SIGKILL + resume, torchrun), not a test.

python tests/train_script.py DIR OUT [--resume] [--sleep S] [--no-checkpoint] [--epochs E] [--dropout P]
Trains a small LSTM regressor with dropout, shuffling, Adam, a cosine schedule, clipping and a
validation split; checkpoints every 3 steps into DIR; writes the final weights to OUT
(safetensors) from rank 0. Under torchrun each process takes its share of every global batch.
"""

from __future__ import annotations

import argparse
import time

import torch
from safetensors.torch import save_file
from torch import nn

import lstmkit
from lstmkit.train import TrainConfig, Trainer
from lstmkit.train import distributed


class Regressor(nn.Module):
    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(2, 12, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(12, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("out")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--no-checkpoint", action="store_true")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(123)
    x = torch.randn(96, 7, 2, generator=g)
    y = x[:, :, :1].sum(1) * 0.5
    torch.manual_seed(7)
    model = Regressor(args.dropout)

    def step(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if args.sleep:
            time.sleep(args.sleep)
        return nn.functional.mse_loss(net(batch[0]), batch[1])

    config = TrainConfig(epochs=args.epochs, batch_size=8, lr=5e-3, schedule="cosine", warmup_steps=3, clip=0.5,
                         val_fraction=0.25, val_split="random", seed=3, progress=False,
                         checkpoint_dir=None if args.no_checkpoint else args.dir, checkpoint_every=3)
    Trainer(model, config, step=step).fit((x, y), resume=args.resume)
    if distributed.rank() == 0:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)


if __name__ == "__main__":
    main()
