"""The workshop inside JupyterLab: the placement board and consensus (notebook 02a) and the criteria editor
(notebook 04a), over the results of steps 1-4."""
