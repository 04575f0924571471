"""Leases in Valkey, shared by every registry instance.

Layout, all under ``key_prefix`` (a cluster hash tag, so the scripts' keys share a slot):

- ``<p>:lease:<APP>:<ID>``: a hash (status, override, timestamps, duration) whose key TTL
  *is* the lease. A renewal pushes the TTL out again; a registrant that stops renewing
  disappears when Valkey expires the key.
- ``<p>:docs``: a hash ``"<APP> <ID>" -> instance document``; it is the index of the
  registry and keeps the document of an expired lease so its DELETED change can carry it.
- ``<p>:version``: the counter behind ``versions__delta``, bumped on every change.
- ``<p>:changes``: a sorted set of change records scored by time, trimmed to the delta
  retention window.

Eviction is key TTL plus an index cleanup, not a sweeper holding a lock. Valkey's expiry
is one clock for every registry instance, so a lease ends at the same moment for all of
them and nothing can evict twice or fight over a leader lock. What TTL alone does not do
is record the deletion: ``_VIEW`` compares the index with the live lease keys and turns
each vanished one into a DELETED change, atomically (it is a script), so any number of
registry instances may run it concurrently and each expiry is recorded exactly once. It
runs on every read and on a timer (the app's ``eviction`` worker). Every
timestamp comes from Valkey's ``TIME``, so registry hosts with skewed clocks agree too.

The scripts walk the whole index: O(instances) per read, which is fine for a registry of
hundreds of instances and is what keeps reads consistent without a second index.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from spotilike.discovery.models import ActionType, Change, Lease, RegistryView
from spotilike.kit.discovery import InstanceStatus

__all__ = ["LeaseStore"]

_PRELUDE = """
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local retention = tonumber(ARGV[2])
local function record(action, app, id, doc)
  local version = redis.call('INCR', p .. ':version')
  local entry = {v = version, action = action, app = app, id = id, at = now}
  if doc then entry.doc = doc end
  redis.call('ZADD', p .. ':changes', now, cjson.encode(entry))
  redis.call('ZREMRANGEBYSCORE', p .. ':changes', '-inf', '(' .. (now - retention))
  return version
end
local function lease_key(member)
  local space = string.find(member, ' ', 1, true)
  return p .. ':lease:' .. string.sub(member, 1, space - 1) .. ':' .. string.sub(member, space + 1)
end
"""

# ARGV: prefix, retention, app, id, doc, status, overridden, duration_ms, dirty
_REGISTER = (
    _PRELUDE
    + """
local member = ARGV[3] .. ' ' .. ARGV[4]
local key = lease_key(member)
local overridden = redis.call('HGET', key, 'overridden')
if (not overridden) or overridden == 'UNKNOWN' then overridden = ARGV[7] end
local up = redis.call('HGET', key, 'up') or tostring(now)
redis.call('HSET', key, 'status', ARGV[6], 'overridden', overridden, 'registered', now,
  'renewed', now, 'updated', now, 'up', up, 'duration', ARGV[8], 'dirty', ARGV[9],
  'action', 'ADDED')
redis.call('PEXPIRE', key, ARGV[8])
redis.call('HSET', p .. ':docs', member, ARGV[5])
return record('ADDED', ARGV[3], ARGV[4], nil)
"""
)

# ARGV: prefix, retention, app, id, dirty ('' when the client sent none)
# 1 renewed, 0 unknown, -1 the client holds newer instance data than the registry.
_RENEW = (
    _PRELUDE
    + """
local key = lease_key(ARGV[3] .. ' ' .. ARGV[4])
local fields = redis.call('HMGET', key, 'duration', 'dirty')
if not fields[1] then return 0 end
if ARGV[5] ~= '' and tonumber(ARGV[5]) > tonumber(fields[2]) then return -1 end
redis.call('HSET', key, 'renewed', now)
redis.call('PEXPIRE', key, fields[1])
return 1
"""
)

# ARGV: prefix, retention, app, id
_CANCEL = (
    _PRELUDE
    + """
local member = ARGV[3] .. ' ' .. ARGV[4]
if redis.call('DEL', lease_key(member)) == 0 then return 0 end
local doc = redis.call('HGET', p .. ':docs', member)
redis.call('HDEL', p .. ':docs', member)
record('DELETED', ARGV[3], ARGV[4], doc)
return 1
"""
)

# ARGV: prefix, retention, app, id, overridden (UNKNOWN removes it), status ('' keeps it)
_STATUS = (
    _PRELUDE
    + """
local key = lease_key(ARGV[3] .. ' ' .. ARGV[4])
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'overridden', ARGV[5], 'updated', now, 'action', 'MODIFIED')
if ARGV[6] ~= '' then redis.call('HSET', key, 'status', ARGV[6]) end
record('MODIFIED', ARGV[3], ARGV[4], nil)
return 1
"""
)

# ARGV: prefix, retention, with_changes ('1' or '0')
# Returns {version, now, {member, doc, lease fields...}..., changes}.
_LEASE_FIELDS = (
    "status",
    "overridden",
    "registered",
    "renewed",
    "updated",
    "up",
    "dirty",
    "duration",
    "action",
)
_VIEW = (
    _PRELUDE
    + """
local docs = redis.call('HGETALL', p .. ':docs')
local live = {}
for i = 1, #docs, 2 do
  local member, doc = docs[i], docs[i + 1]
  local fields = redis.call('HMGET', lease_key(member),
    'status', 'overridden', 'registered', 'renewed', 'updated', 'up', 'dirty', 'duration',
    'action')
  if fields[1] then
    table.insert(live, {member, doc, unpack(fields)})
  else
    redis.call('HDEL', p .. ':docs', member)
    local space = string.find(member, ' ', 1, true)
    record('DELETED', string.sub(member, 1, space - 1), string.sub(member, space + 1), doc)
  end
end
local changes = {}
if ARGV[3] == '1' then
  changes = redis.call('ZRANGEBYSCORE', p .. ':changes', now - retention, '+inf')
end
local version = redis.call('GET', p .. ':version') or '0'
return {version, now, live, changes}
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class LeaseStore:
    """The registry's state; every method is one atomic script call."""

    def __init__(self, redis: Redis, *, key_prefix: str, delta_retention_seconds: int) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._retention_ms = delta_retention_seconds * 1000
        self._register = redis.register_script(_REGISTER)
        self._renew = redis.register_script(_RENEW)
        self._cancel = redis.register_script(_CANCEL)
        self._status = redis.register_script(_STATUS)
        self._view = redis.register_script(_VIEW)

    def _args(self, *values: object) -> list[str]:
        return [self._prefix, str(self._retention_ms), *(str(value) for value in values)]

    async def register(
        self,
        *,
        app: str,
        instance_id: str,
        info: dict[str, Any],
        status: InstanceStatus,
        overridden_status: InstanceStatus,
        duration_seconds: int,
        dirty_ms: int,
    ) -> int:
        """Creates or replaces the lease; an override already set survives. The version."""
        version = await self._register(
            args=self._args(
                app,
                instance_id,
                json.dumps(info, separators=(",", ":")),
                status.value,
                overridden_status.value,
                duration_seconds * 1000,
                dirty_ms,
            )
        )
        return int(version)

    async def renew(self, *, app: str, instance_id: str, dirty_ms: int | None) -> bool:
        """False when the lease is unknown or the client's data is newer than the stored."""
        outcome = await self._renew(
            args=self._args(app, instance_id, "" if dirty_ms is None else dirty_ms)
        )
        return int(outcome) == 1

    async def cancel(self, *, app: str, instance_id: str) -> bool:
        return int(await self._cancel(args=self._args(app, instance_id))) == 1

    async def set_status(
        self,
        *,
        app: str,
        instance_id: str,
        overridden_status: InstanceStatus,
        status: InstanceStatus | None = None,
    ) -> bool:
        outcome = await self._status(
            args=self._args(
                app, instance_id, overridden_status.value, status.value if status else ""
            )
        )
        return int(outcome) == 1

    async def view(self, *, with_changes: bool = False) -> RegistryView:
        """Every live lease (recording expired ones as DELETED first) and the changes."""
        version, now, live, changes = await self._view(
            args=self._args("1" if with_changes else "0")
        )
        leases = [self._lease(row) for row in live]
        return RegistryView(
            version=int(version),
            now_ms=int(now),
            leases=sorted(leases, key=lambda lease: (lease.app, lease.instance_id)),
            changes=[self._change(raw) for raw in changes],
        )

    @staticmethod
    def _lease(row: list[Any]) -> Lease:
        member, doc, *raw = (_text(value) for value in row)
        fields = dict(zip(_LEASE_FIELDS, raw, strict=True))
        app, _, instance_id = member.partition(" ")
        return Lease(
            app=app,
            instance_id=instance_id,
            info=json.loads(doc),
            status=InstanceStatus.parse(fields["status"]),
            overridden_status=InstanceStatus.parse(fields["overridden"]),
            registered_ms=int(fields["registered"]),
            renewed_ms=int(fields["renewed"]),
            updated_ms=int(fields["updated"]),
            up_ms=int(fields["up"]),
            dirty_ms=int(fields["dirty"]),
            duration_seconds=int(fields["duration"]) // 1000,
            action=ActionType(fields["action"]),
        )

    @staticmethod
    def _change(raw: Any) -> Change:
        entry = json.loads(_text(raw))
        doc = entry.get("doc")
        return Change(
            version=int(entry["v"]),
            action=ActionType(entry["action"]),
            app=str(entry["app"]),
            instance_id=str(entry["id"]),
            at_ms=int(entry["at"]),
            info=json.loads(doc) if isinstance(doc, str) else None,
        )
