// Row <-> record mapping for the SQLite store: the column lists, and reading and binding
// services, groups, families and observations. Internal to sqlite_store.cc.
#pragma once

#include "registry/model.h"
#include "registry/sqlite_util.h"

namespace berth::registry::rows {

inline constexpr const char* kSelectService =
    "SELECT name, proto, port, grp, family, owner, description, tags, sources, reason, created, "
    "updated, revision, size FROM services";
inline constexpr const char* kInsertService =
    "INSERT INTO services (name, proto, port, grp, family, owner, description, tags, sources, "
    "reason, created, updated, revision, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
    "?11, ?12, ?13, ?14)";
inline constexpr const char* kSelectGroup =
    "SELECT name, description, hosts, ephemeral, reserved, range_low, range_high, allow "
    "FROM groups";
inline constexpr const char* kUpsertGroup =
    "INSERT OR REPLACE INTO groups (name, description, hosts, ephemeral, reserved, range_low, "
    "range_high, allow) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
inline constexpr const char* kSelectFamily =
    "SELECT name, description, base, size, skip FROM families";
inline constexpr const char* kUpsertFamily =
    "INSERT OR REPLACE INTO families (name, description, base, size, skip) VALUES "
    "(?1, ?2, ?3, ?4, ?5)";
inline constexpr const char* kSelectObservation =
    "SELECT host, service, proto, port, pid, command, first_seen, last_seen FROM observations";

// Failure: kMalformed when a stored value does not parse (a damaged or hand-edited file).
[[nodiscard]] Result<ServiceRecord> ReadService(const sql::Stmt& s);
[[nodiscard]] Result<void> BindService(sql::Stmt& s, const ServiceRecord& r);
[[nodiscard]] Result<Group> ReadGroup(const sql::Stmt& s);
void BindGroup(sql::Stmt& s, const Group& g);
[[nodiscard]] Result<Family> ReadFamily(const sql::Stmt& s);
void BindFamily(sql::Stmt& s, const Family& f);
Observation ReadObservation(const sql::Stmt& s);

}  // namespace berth::registry::rows
