"""Cohen et al.'s sampling loop (Smooth._sample_noise of their reference code) in PyTorch on CPU,
for bench/engine.ts, which starts this script and sends it work one JSON line at a time, so that
it can interleave its own measurements with these on a busy machine.

/usr/bin/python3 bench/cohen_pytorch.py --model models/NAME.onnx --shape 1,28,28 --threads T --batch B --sigma S

The network is train/model.py's SmallCnn with the weights of the shipped ONNX file (the ONNX
initializer names are the PyTorch state_dict keys), so both engines run the same function.
Requests:  {"mode": "sample" | "forward", "x": [d floats], "n": N, "seed": int (optional: reseeds torch)}
Answers:   {"seconds": s, "counts": [K ints]}   (timing covers the loop only)
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'train'))
from model import SmallCnn  # noqa: E402


def load_network(path):
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer}
    network = SmallCnn(0.0, 1.0, num_classes=weights['classifier.3.bias'].numel())
    network.load_state_dict(weights, strict=True)  # every parameter and buffer, nothing left over
    return network.eval()


def sample_counts(network, x, sigma, n, batch_size, num_classes):
    """Cohen's loop: repeat x, add randn * sigma, argmax, count; batches of batch_size."""
    counts = torch.zeros(num_classes, dtype=torch.int64)
    with torch.no_grad():
        remaining = n
        while remaining > 0:
            rows = min(batch_size, remaining)
            remaining -= rows
            batch = x.repeat((rows, 1, 1, 1))
            noise = torch.randn_like(batch) * sigma
            predictions = network(batch + noise).argmax(1)
            counts += torch.bincount(predictions, minlength=num_classes)
    return counts


def forward_counts(network, x, n, batch_size, num_classes):
    """Forward passes only, on the noise-free input repeated (no noise, for comparison)."""
    counts = torch.zeros(num_classes, dtype=torch.int64)
    batch = x.repeat((batch_size, 1, 1, 1))
    with torch.no_grad():
        remaining = n
        while remaining > 0:
            rows = min(batch_size, remaining)
            remaining -= rows
            counts += torch.bincount(network(batch[:rows]).argmax(1), minlength=num_classes)
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', required=True)
    parser.add_argument('--shape', default='1,28,28', help='input shape without the batch axis')
    parser.add_argument('--threads', type=int, required=True)
    parser.add_argument('--batch', type=int, default=1000)
    parser.add_argument('--sigma', type=float, required=True)
    args = parser.parse_args()
    shape = [1] + [int(v) for v in args.shape.split(',')]
    torch.set_num_threads(args.threads)
    network = load_network(args.model)
    num_classes = network.classifier[-1].out_features
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if 'seed' in request:
            torch.manual_seed(request['seed'])
        x = torch.tensor(request['x'], dtype=torch.float32).view(shape)
        start = time.perf_counter()
        if request['mode'] == 'sample':
            counts = sample_counts(network, x, args.sigma, request['n'], args.batch, num_classes)
        else:
            counts = forward_counts(network, x, request['n'], args.batch, num_classes)
        seconds = time.perf_counter() - start
        print(json.dumps({'seconds': seconds, 'counts': counts.tolist()}), flush=True)


if __name__ == '__main__':
    main()
