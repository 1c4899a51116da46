"""Running the workbook: `tierbook` (cli), papermill per company (runner), parallel batches (batch) and the
run history (history)."""
