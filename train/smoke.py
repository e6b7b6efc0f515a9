"""One-batch smoke run of a training method:
/usr/bin/python3 train/smoke.py METHOD [--ds2] [--seed S] [--dataset fashion-mnist|mnist]

Trains a fresh model for a few steps on one small batch through the real training loop
(train.train, so DS2's per-example sigma optimisation runs too) and prints, as JSON, the
method's loss on that batch before and after, both evaluated with the same noise seed and
the initial sigma, so that the two numbers are comparable.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config import complete_config  # noqa: E402
from methods import LOSSES  # noqa: E402
from seeding import seed_everything  # noqa: E402
from train import build_model, load_training_data, train  # noqa: E402

EVAL_NOISE_SEED = 12345


def batch_loss(model, config, x, y):
    torch.manual_seed(EVAL_NOISE_SEED)
    sigma = torch.full((len(x),), float(config['sigma']))
    late_epoch = 10 ** 6  # past any warm-up: evaluate the full objective
    return float(LOSSES[config['method']](model, x, y, sigma, config[config['method']], late_epoch))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('method', choices=sorted(LOSSES))
    parser.add_argument('--ds2', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dataset', default='fashion-mnist')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--steps', type=int, default=8)
    parser.add_argument('--lr', type=float, default=3e-3)
    args = parser.parse_args(argv)
    config = complete_config({
        'name': f'smoke-{args.method}', 'dataset': args.dataset, 'method': args.method, 'sigma': 0.25, 'ds2': args.ds2,
        'seed': args.seed, 'trainLimit': args.batch, 'batchSize': args.batch, 'epochs': args.steps, 'lr': args.lr,
        # one epoch is one step here, so warm-up over epochs would only shrink the attack
        'smoothadv': {'warmupEpochs': 1},
    })
    x, y = load_training_data(config)
    seed_everything(config['seed'], threads=1)
    before = batch_loss(build_model(config), config, x, y)  # same initial weights as train() draws
    model, summary = train(config, log=lambda *a, **k: None, threads=1)
    model.eval()
    after = batch_loss(model, config, x, y)
    print(json.dumps({'method': args.method, 'ds2': args.ds2, 'dataset': args.dataset,
                      'labels': sorted(set(int(v) for v in y)), 'seed': args.seed, 'before': before, 'after': after,
                      'sigmaStats': summary['sigmaStats']}))


if __name__ == '__main__':
    main()
