"""Training configurations: one JSON file per model in train/configs/NAME.json.

Hyper-parameter names follow the papers: sigma (Cohen et al. 2019); m, epsilon, numSteps,
warmupEpochs (SmoothAdv, Salman et al. 2019); m, lambda, gamma, beta (MACER, Zhai et al. 2020);
K, n, alpha (data-dependent sigma, Alfarra et al. 2022, Algorithms 1 and 2).
"""
import json
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent / 'configs'

DEFAULTS = {
    'dataset': 'fashion-mnist',
    'ds2': False,
    'epochs': 5,
    'batchSize': 128,
    'lr': 1e-3,
    'weightDecay': 0.0,
    'seed': 0,
    'trainLimit': None,  # use only the first N training images (smoke runs)
    'batchLimit': None,  # stop each epoch after N batches (smoke runs)
}

METHOD_DEFAULTS = {
    'cohen': {},
    'smoothadv': {'m': 2, 'epsilon': 0.5, 'numSteps': 1, 'warmupEpochs': 2},
    'macer': {'m': 4, 'lambda': 12.0, 'gamma': 8.0, 'beta': 16.0},
}

DS2_DEFAULTS = {'K': 2, 'n': 1, 'alpha': 1e-4, 'sigmaMin': 0.05, 'sigmaMax': 1.0}


def load_config(name_or_path):
    path = Path(name_or_path)
    if not path.is_file():
        path = CONFIG_DIR / f'{name_or_path}.json'
    with open(path) as f:
        raw = json.load(f)
    return complete_config(raw)


def complete_config(raw):
    for key in ('name', 'method', 'sigma'):
        if key not in raw:
            raise ValueError(f'config lacks {key!r}')
    method = raw['method']
    if method not in METHOD_DEFAULTS:
        raise ValueError(f'unknown method {method!r}; known: {sorted(METHOD_DEFAULTS)}')
    config = {**DEFAULTS, **raw}
    config[method] = {**METHOD_DEFAULTS[method], **raw.get(method, {})}
    if config['ds2']:
        config['ds2Params'] = {**DS2_DEFAULTS, **raw.get('ds2Params', {})}
    return config
