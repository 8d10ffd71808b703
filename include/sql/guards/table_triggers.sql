-- purpose: every trigger on the target table, the application's and tenant_guard's, in firing order
select
    t.trigger_name as trigger_name,
    t.action_timing as action_timing,
    t.event_manipulation as event_manipulation,
    t.action_order as action_order,
    t.action_statement as action_statement,
    t.definer as definer
from information_schema.triggers as t
where t.event_object_schema = database()
  and t.trigger_schema = database()
  and t.event_object_table = %(table)s
order by t.action_timing, t.event_manipulation, t.action_order
