"""Research and one-off tools (not installed with the package): how the
shipped settings were chosen. Run from the repository root, e.g.
`python -m research.maixcam.sensitivity ../shared/data --out DIR`."""
