"""monitoring: after the repair — the daily validation (validation), the 48-hour watch (watch), and the mail
to on-call (mail).

May import: every role below it (core … enforce). Airflow: only mail (its SMTP notifier and Airflow's
configuration for links).
"""
