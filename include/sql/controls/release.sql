-- purpose: withdraw a request (resume after a pause; a cancel the run has honoured)
delete from tenant_run_controls where action = %(action)s and scope = %(scope)s and run_id = %(run_id)s
