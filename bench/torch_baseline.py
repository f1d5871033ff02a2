#!/usr/bin/python3
"""PyTorch baseline for `npm run bench` (bench/run.ts): the same training step as the generated
trainers and bench/tfjs-baseline.ts, on one thread. A single-layer nn.RNN (tanh) or nn.LSTM over
dense inputs [T, B, X], a linear readout to Y classes, softmax cross-entropy averaged over all T*B
positions, full BPTT, plain SGD (lr 0.1). Runs untimed warm-up steps, then steps for `--seconds`
(at least one), and prints one JSON line: steps per second and the loss before and after.

usage: bench/torch_baseline.py --cell lstm --B 32 --T 64 --X 64 --H 128 --Y 64 --seconds 2
"""
import argparse
import json
import time

import torch

p = argparse.ArgumentParser()
p.add_argument('--cell', choices=['elman', 'lstm'], required=True)
for k in ['B', 'T', 'X', 'H', 'Y']:
    p.add_argument(f'--{k}', type=int, required=True)
p.add_argument('--seconds', type=float, default=2.0)
p.add_argument('--warmup', type=int, default=2)
a = p.parse_args()

torch.set_num_threads(1)
torch.manual_seed(1234)
rnn = torch.nn.RNN(a.X, a.H) if a.cell == 'elman' else torch.nn.LSTM(a.X, a.H)
readout = torch.nn.Linear(a.H, a.Y)
params = list(rnn.parameters()) + list(readout.parameters())
opt = torch.optim.SGD(params, lr=0.1)
x = torch.randn(a.T, a.B, a.X)
targets = torch.randint(0, a.Y, (a.T * a.B,))


def step() -> float:
    opt.zero_grad()
    hs, _ = rnn(x)
    loss = torch.nn.functional.cross_entropy(readout(hs.reshape(a.T * a.B, a.H)), targets)
    loss.backward()
    opt.step()
    return loss.item()


loss_first = step()
for _ in range(a.warmup - 1):
    step()
n, start = 0, time.perf_counter()
while True:
    loss_last = step()
    n += 1
    if time.perf_counter() - start >= a.seconds:
        break
elapsed = time.perf_counter() - start
print(json.dumps({'stepsPerSec': n / elapsed, 'lossFirst': loss_first, 'lossLast': loss_last, 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
