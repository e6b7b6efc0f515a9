"""Train one model from its config: /usr/bin/python3 train/train.py NAME [--out DIR].

Writes DIR/NAME.pt (weights, config, training time, per-epoch losses, DS2 sigma statistics).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config import load_config  # noqa: E402
from data import dataset_info  # noqa: E402
from ds2 import optimize_sigma  # noqa: E402
from methods import LOSSES  # noqa: E402
from model import SmallCnn  # noqa: E402
from seeding import seed_everything  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / 'out'


def build_model(config):
    info = dataset_info(config['dataset'])
    return SmallCnn(info['mean'], info['std'], num_classes=len(info['labels']))


def load_training_data(config):
    x, y = dataset_info(config['dataset'])['load']('train', config['trainLimit'])
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


def sigma_stats(sigmas):
    s = sigmas.numpy()
    return {'mean': float(s.mean()), 'min': float(s.min()), 'max': float(s.max()),
            'p10': float(np.percentile(s, 10)), 'p90': float(np.percentile(s, 90))}


def train(config, device='cpu', log=print, threads=2):
    seed_everything(config['seed'], threads)
    x_all, y_all = load_training_data(config)
    model = build_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config['lr'], weight_decay=config['weightDecay'])
    batch_size, epochs = config['batchSize'], config['epochs']
    batches_per_epoch = (len(x_all) + batch_size - 1) // batch_size
    if config['batchLimit']:
        batches_per_epoch = min(batches_per_epoch, config['batchLimit'])
    # cosine decay to zero over the whole run: few epochs, so no warm restarts or step schedule
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * batches_per_epoch))
    loss_fn, params = LOSSES[config['method']], config[config['method']]
    ds2 = config.get('ds2Params') if config['ds2'] else None
    sigmas = torch.full((len(x_all),), float(config['sigma']))  # Algorithm 2: one sigma per example
    order_rng = np.random.RandomState(config['seed'])

    epoch_losses, started = [], time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.from_numpy(order_rng.permutation(len(x_all)))
        total, count = 0.0, 0
        for b in range(batches_per_epoch):
            index = order[b * batch_size:(b + 1) * batch_size]
            x, y = x_all[index].to(device), y_all[index].to(device)
            sigma = sigmas[index].to(device)
            if ds2:
                sigma = optimize_sigma(model, x, sigma, ds2['K'], ds2['n'], ds2['alpha'], ds2['sigmaMin'], ds2['sigmaMax'])
                sigmas[index] = sigma.cpu()
            loss = loss_fn(model, x, y, sigma, params, epoch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss) * len(index)
            count += len(index)
        epoch_losses.append(total / count)
        extra = f" sigma {sigma_stats(sigmas)}" if ds2 else ''
        log(f"{config['name']} epoch {epoch + 1}/{epochs} loss {total / count:.4f} "
            f"elapsed {time.time() - started:.0f}s{extra}", flush=True)
    seconds = time.time() - started
    return model, {'seconds': seconds, 'epochLosses': epoch_losses,
                   'sigmaStats': sigma_stats(sigmas) if ds2 else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config', help='config name (train/configs/NAME.json) or path')
    parser.add_argument('--out', default=str(DEFAULT_OUT))
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)
    config = load_config(args.config)
    model, summary = train(config, device=args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{config['name']}.pt"
    torch.save({'state_dict': {k: v.cpu() for k, v in model.state_dict().items()}, 'config': config,
                'device': args.device, 'torch': torch.__version__, **summary}, path)
    print(json.dumps({'checkpoint': str(path), 'seconds': round(summary['seconds'], 1)}))


if __name__ == '__main__':
    main()
