-- purpose: close a validation with its verdict and Data Docs location
update tenant_validation_runs
set passed = %(passed)s, data_docs = %(data_docs)s, finished_at = current_timestamp(6)
where validation_no = %(validation_no)s
