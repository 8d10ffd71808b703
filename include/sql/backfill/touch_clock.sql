-- purpose: the change-marker value this chunk writes (touch_updated_at): the session's clock, one value for the whole chunk
set @tenant_touched_at = now()
