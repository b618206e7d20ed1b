-- Argo CD health check of exposure.dev/Exposure (Lua 5.1; `obj` is the live object).
-- Exposure follows kstatus: Ready / Reconciling / Stalled conditions and observedGeneration.
--   being deleted, no status, or status of an older generation -> Progressing
--   Stalled=True                                                -> Degraded (its message)
--   Ready=True                                                  -> Healthy
--   anything else                                               -> Progressing (Ready's message)
local hs = { status = "Progressing", message = "Waiting for the operator to report status" }

local function condition(conditions, type_)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == type_ then
      return c
    end
  end
  return nil
end

local function text(c, fallback)
  if c ~= nil and type(c.message) == "string" and c.message ~= "" then
    return c.message
  end
  if c ~= nil and type(c.reason) == "string" and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local metadata = obj.metadata or {}
if metadata.deletionTimestamp ~= nil then
  hs.message = "Exposure is being deleted"
  return hs
end

local status = obj.status
if type(status) ~= "table" then
  return hs
end

local generation = metadata.generation
local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = text(stalled, "Stalled")
  return hs
end

local ready = condition(status.conditions, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready, "Ready")
  return hs
end

local reconciling = condition(status.conditions, "Reconciling")
hs.message = text(ready, text(reconciling, "Not ready yet"))
return hs
