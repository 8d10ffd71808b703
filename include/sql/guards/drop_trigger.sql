-- purpose: remove one of tenant_guard's own triggers (only names it installed reach this statement)
drop trigger if exists {{ trigger }}
