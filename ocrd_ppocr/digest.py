"""The one content hash of a file: pinned wheels, derived graphs and their caches are checked and keyed by it."""
import hashlib


def sha256_of(path):
    """Hex SHA-256 of the file at `path`, read in blocks (model files are large)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()
