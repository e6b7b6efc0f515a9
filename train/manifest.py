"""Insert or replace one entry of models/manifest.json, keeping the others and their order."""
import json
import os


def update_manifest(path, entry, make_default=False):
    manifest = {'default': entry['name'], 'models': []}
    if path.exists():
        manifest = json.loads(path.read_text())
    models = manifest['models']
    names = [m['name'] for m in models]
    if entry['name'] in names:
        models[names.index(entry['name'])] = entry
    else:
        models.append(entry)
    if make_default or not any(m['name'] == manifest.get('default') for m in models):
        manifest['default'] = entry['name']
    # write then rename, so a reader never sees half a manifest
    tmp = path.with_suffix('.json.tmp')
    tmp.write_text(json.dumps({'default': manifest['default'], 'models': models}, indent=2) + '\n')
    os.replace(tmp, path)
