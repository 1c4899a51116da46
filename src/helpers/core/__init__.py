"""The small core every step uses and that imports no step: errors, i18n, exports, number formatting,
the rule language, statistics, the Pareto cuts (ABC, mono-client rule), safe YAML and the plot style."""
