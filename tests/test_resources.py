"""The resources ocrd-tool.json declares: every one that `ocrd resmgr download`
fetches has a URL of a file (or an archive with the file's path in it) of the
right kind, every model the package installs is declared, and the derived
ones say they cannot be downloaded. Where the network is reachable, each URL
answers."""
import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ocrd_ppocr.maixcam.build import OUTPUTS as MAIXCAM_OUTPUTS

ROOT = Path(__file__).parent.parent
TOOL = json.loads((ROOT / 'ocrd-tool.json').read_text(encoding='utf-8'))
SOURCES = json.loads((ROOT / 'ocrd_ppocr' / 'model_sources.json').read_text(encoding='utf-8'))
RESOURCES = [(executable, res) for executable, tool in TOOL['tools'].items() for res in tool.get('resources', [])]
ARCHIVES = ('.zip', '.tar.gz', '.tgz', '.tar.xz')
PACKAGE_INDEX_HOSTS = ('pypi.org', 'files.pythonhosted.org')


def downloadable():
    return [(executable, res) for executable, res in RESOURCES if res['url'] != '???']


def _id(item):
    return item[1]['name']


@pytest.mark.parametrize('item', downloadable(), ids=_id)
def test_url_is_a_file_of_the_right_kind(item):
    _, res = item
    url = urlparse(res['url'])
    assert url.scheme == 'https', res['url']
    assert url.netloc not in PACKAGE_INDEX_HOSTS, 'point at the upstream home, not the package index'
    parts = [p for p in url.path.split('/') if p]
    if url.netloc == 'github.com':
        # a repository or tree page is HTML; files come from /raw/ or release downloads
        assert len(parts) > 3 and parts[2] in ('raw', 'releases'), res['url']
    suffix = Path(res['name']).suffix
    if res.get('type', 'file') == 'archive':
        assert url.path.endswith(ARCHIVES), res['url']
        assert res.get('path_in_archive', '.').endswith(suffix), res
    else:
        assert url.path.endswith(suffix), f'{res["url"]} is no {suffix} file'


def test_every_installed_model_is_declared_and_sized():
    declared = {(executable, res['name']): res for executable, res in RESOURCES}
    for model in SOURCES['models'] + SOURCES['patches']:
        res = declared.get((model['executable'], model['name']))
        assert res, f'{model["name"]} is installed by make models but not declared for {model["executable"]}'
        assert res['size'] == model['size'], model['name']
    for role, names in MAIXCAM_OUTPUTS.items():
        executable = 'ocrd-ppocr-detect' if role == 'det' else 'ocrd-ppocr-recognize'
        for name in names:
            assert (executable, name) in declared, f'MaixCAM graph {name} not declared for {executable}'


def test_derived_resources_say_how_they_are_made():
    derived = {m['name'] for m in SOURCES['patches']} | {n for names in MAIXCAM_OUTPUTS.values() for n in names}
    for _, res in RESOURCES:
        if res['url'] == '???':  # core's resmgr skips these with a warning instead of failing
            assert res['name'] in derived, f'{res["name"]} has no URL and is not built by this package'
            assert 'derived' in res['description'].lower() and 'make ' in res['description'], res['name']


def _online(host='huggingface.co'):
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not os.environ.get('OCRD_PPOCR_ONLINE_TESTS') or not _online(),
                    reason='needs the network (set OCRD_PPOCR_ONLINE_TESTS=1 where it is reachable)')
@pytest.mark.parametrize('item', downloadable(), ids=_id)
def test_url_answers(item):
    import requests
    _, res = item
    with requests.get(res['url'], stream=True, allow_redirects=True, timeout=30) as response:
        assert response.status_code == 200, res['url']
        length = int(response.headers.get('content-length', 0))
        if res.get('type', 'file') == 'file' and length:
            assert length == res['size'], res['url']


@pytest.mark.parametrize('item', [i for i in RESOURCES if i[1].get('type') == 'archive'], ids=_id)
def test_core_takes_the_model_out_of_its_archive(item, tmp_path):
    """core's resource manager, given an archive laid out as declared (here a
    local copy built from the installed model), installs the member under the
    resource's name, unchanged."""
    import hashlib
    import zipfile

    from ocrd.resource_manager import OcrdResourceManager
    from conftest import model_path
    executable, res = item
    source = Path(model_path(res['name'], executable))
    archive = tmp_path / 'upstream.zip'
    with zipfile.ZipFile(archive, 'w') as zipped:
        zipped.write(source, res['path_in_archive'])
    manager = OcrdResourceManager(xdg_config_home=str(tmp_path / 'config'), xdg_data_home=str(tmp_path / 'data'))
    installed = manager.handle_resource(dict(res), executable, tmp_path / 'dest', any_url=str(archive))
    assert Path(installed).name == res['name']
    assert hashlib.sha256(Path(installed).read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
