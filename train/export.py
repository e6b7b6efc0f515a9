"""Export a trained checkpoint to ONNX and record it in models/manifest.json.

/usr/bin/python3 train/export.py NAME [--checkpoint train/out/NAME.pt] [--models models] [--default]

Writes models/NAME.onnx (dynamic batch axis, pixels in [0, 1] in, logits out, normalisation
inside), models/reference/NAME.json (a few inputs with PyTorch's logits, to check that
onnxruntime computes the same function) and the manifest entry, with clean accuracy on the
full test set and on a fixed subset (the first SUBSET_SIZE test images) that tests re-measure.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import dataset_info  # noqa: E402
from docs import write_models_doc  # noqa: E402
from manifest import update_manifest  # noqa: E402
from model import multiply_adds_per_image  # noqa: E402
from train import DEFAULT_OUT, build_model  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
OPSET = 13
INPUT_NAME, OUTPUT_NAME = 'input', 'logits'
SUBSET_SIZE = 2000
REFERENCE_SCALE = 256  # reference inputs are integers / 256: exact in float32, short in JSON
REFERENCE_COUNT = 3


def load_checkpoint(path):
    checkpoint = torch.load(path, map_location='cpu')
    model = build_model(checkpoint['config'])
    model.load_state_dict(checkpoint['state_dict'])
    model.eval()
    return model, checkpoint


def accuracy(model, x, y, batch_size=1000):
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(torch.from_numpy(x[start:start + batch_size]))
            correct += int((logits.argmax(1).numpy() == y[start:start + batch_size]).sum())
    return correct / len(x)


def noisy_accuracy(model, x, y, sigma, seed=0):
    """Accuracy of the base classifier under one Gaussian draw at sigma per image (seeded)."""
    noise = np.random.RandomState(seed).normal(0.0, sigma, size=x.shape).astype(np.float32)
    return accuracy(model, x + noise, y)


def export_onnx(model, path):
    dummy = torch.zeros(2, 1, 28, 28)
    torch.onnx.export(model, dummy, str(path), opset_version=OPSET, input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}},
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(str(path)))


def reference_inputs(x_test, seed):
    """Two test images and one noisy image (values outside [0, 1]: the engine does not clip)."""
    rng = np.random.RandomState(seed)
    clean = x_test[:REFERENCE_COUNT - 1]
    noisy = x_test[REFERENCE_COUNT - 1:REFERENCE_COUNT] + rng.normal(0, 0.5, size=x_test[:1].shape)
    inputs = np.concatenate([clean, noisy]).astype(np.float64)
    return np.round(inputs * REFERENCE_SCALE).astype(np.int64)


def write_reference(model, name, x_test, path):
    quantised = reference_inputs(x_test, seed=0)
    x = torch.from_numpy((quantised / REFERENCE_SCALE).astype(np.float32))
    with torch.no_grad():
        logits = model(x).numpy()
    reference = {'model': name, 'scale': REFERENCE_SCALE, 'shape': list(x.shape),
                 'inputs': quantised.reshape(len(x), -1).tolist(),
                 'logits': [[float(v) for v in row] for row in logits]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference, separators=(',', ':')) + '\n')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('name')
    parser.add_argument('--checkpoint')
    parser.add_argument('--models', default=str(REPO_ROOT / 'models'))
    parser.add_argument('--default', action='store_true', help='make this the manifest default')
    args = parser.parse_args(argv)
    models_dir = Path(args.models)
    model, checkpoint = load_checkpoint(args.checkpoint or DEFAULT_OUT / f'{args.name}.pt')
    config = checkpoint['config']
    if config['name'] != args.name:
        raise SystemExit(f"checkpoint holds {config['name']!r}, not {args.name!r}")
    info = dataset_info(config['dataset'])
    x_test, y_test = info['load']('test')

    onnx_file = f'{args.name}.onnx'
    export_onnx(model, models_dir / onnx_file)
    write_reference(model, args.name, x_test, models_dir / 'reference' / f'{args.name}.json')

    method_params = config[config['method']]
    training = {'method': config['method'], 'ds2': bool(config['ds2']), 'sigma': config['sigma'],
                'epochs': config['epochs'], 'seed': config['seed'],
                'command': f'npm run train -- {args.name}', 'seconds': round(checkpoint['seconds'], 1),
                'config': f"train/configs/{args.name}.json", 'optimizer': 'adam', 'lr': config['lr'],
                'batchSize': config['batchSize'], 'device': checkpoint.get('device', 'cpu'),
                'hyperparameters': method_params}
    if config['ds2']:
        training['ds2Params'] = config['ds2Params']
        training['trainingSigma'] = checkpoint['sigmaStats']
    entry = {
        'name': args.name, 'file': onnx_file, 'dataset': config['dataset'],
        'inputName': INPUT_NAME, 'outputName': OUTPUT_NAME, 'inputShape': [1, 28, 28],
        'labels': info['labels'], 'domain': {'min': 0, 'max': 1},
        'sigma0': config['sigma'], 'norm': 'l2', 'sigmaMode': 'auto',
        'training': training,
        'cleanAccuracy': accuracy(model, x_test, y_test),
        'subsetAccuracy': accuracy(model, x_test[:SUBSET_SIZE], y_test[:SUBSET_SIZE]),
        'subset': {'split': 'test', 'first': SUBSET_SIZE},
        'noisyAccuracy': noisy_accuracy(model, x_test, y_test, config['sigma']),
        'reference': f'reference/{args.name}.json',
        'opset': OPSET, 'multiplyAddsPerImage': multiply_adds_per_image(model),
    }
    update_manifest(models_dir / 'manifest.json', entry, make_default=args.default)
    if models_dir.resolve() == (REPO_ROOT / 'models').resolve():
        write_models_doc(models_dir / 'manifest.json', REPO_ROOT / 'docs' / 'models.md')
    print(json.dumps({'model': args.name, 'cleanAccuracy': entry['cleanAccuracy'],
                      'subsetAccuracy': entry['subsetAccuracy'], 'seconds': training['seconds']}))


if __name__ == '__main__':
    main()
