"""Online experiments: a challenger model tried on live traffic next to the champion.

Plain functions shared by the API (assignment, impressions), the CLI (``hashiramart experiments``), the
Dagster asset ``monitoring/experiment_results`` and its sensor (analysis, conclusion), and the registry
(audit of alias moves). State lives in Postgres schema ``app`` so every API worker and the daemon agree.
"""
