#pragma once
// The replica's routes: service -> instance -> route. The table digest (docs/PROTOCOL.md, "Digest")
// is kept up to date in O(1) per change, and the per-service view handed to the RouteSink is
// rebuilt only for the services that changed, once per batch (take_changes). Each route is held
// with its Version (which watson datagram the directory's record came from), and a Listener, if
// set, hears every change per instance: that is how several directories' streams are merged
// (MergedTable).
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sherlock/route_sink.hpp"
#include "wire/messages.hpp"

namespace baker::sherlock {

class ReplicaTable {
 public:
  struct Entry {
    wire::Route route;
    wire::Version version;
    std::uint64_t digest = 0;  // route_digest(route), so removal does not re-encode
  };
  // Why an instance left the table.
  enum class Gone : std::uint8_t {
    goodbye,  // a remove op for the watson's Goodbye (the version is the Goodbye's)
    dropped,  // any other removal: the directory expired it, or a replacing snapshot lacks it
  };
  // Told of every change, after the table holds it.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void upserted(const ReplicaTable& table, const Entry& entry) = 0;
    virtual void removed(const ReplicaTable& table, std::string_view service,
                         std::string_view instance, Gone why, wire::Version version) = 0;
    // A first snapshot filled the empty table: true if the listener took it whole (then it hears
    // no per-instance upserts for it).
    virtual bool filled(const ReplicaTable& table) {
      (void)table;
      return false;
    }
  };

  // view_filter: the services view() shows (empty = all). The table itself holds every route it
  // is given: a multicast member holds the whole table but only shows (and routes to) its own.
  explicit ReplicaTable(std::vector<std::string> view_filter = {});
  ReplicaTable(const ReplicaTable&) = delete;  // listeners know tables by address
  ReplicaTable& operator=(const ReplicaTable&) = delete;

  void set_listener(Listener* listener) { listener_ = listener; }
  // Off: digest() stays 0 and no route is hashed (a merged table: no directory's digest
  // describes it, and hashing is most of an insert's cost).
  void set_digest_tracking(bool on) { track_digest_ = on; }
  // Off: changes are not collected for take_changes() (a stream whose listener keeps the view).
  void set_view_tracking(bool on) {
    track_view_ = on;
    if (!on) changed_.clear();
  }

  // The route is now exactly r at version v (add and update alike). Returns false if it already
  // was. A new version of the same route changes no view (and the listener hears it).
  bool upsert(wire::Route r, wire::Version v = {});
  // Returns false if there was no such route.
  bool remove(std::string_view service, std::string_view instance, Gone why = Gone::dropped,
              wire::Version version = {});
  void apply(const wire::DeltaOp& op);
  // A snapshot's routes, put in the table's own form chunk by chunk as they arrive, so most of the
  // work of a 100k-route snapshot is done while the directory is still pacing it out.
  class Staged {
   public:
    // versions[i] is routes[i]'s; missing ones are {0, 0}.
    void add(std::vector<wire::Route> routes, const std::vector<wire::Version>& versions = {});
    std::size_t size() const { return size_; }

   private:
    friend class ReplicaTable;
    std::map<std::string, std::map<std::string, Entry, std::less<>>, std::less<>> services_;
    std::uint64_t digest_ = 0;
    std::size_t size_ = 0;
  };

  // A full snapshot: afterwards the table holds exactly the staged routes. Only services whose
  // routes differ are reported as changed.
  void replace(Staged staged);
  void replace(std::vector<wire::Route> routes);
  // A warm-up snapshot: add and update every route given, keep every other.
  void merge(Staged staged);
  void merge(std::vector<wire::Route> routes);
  // Removes every route (each removal heard as dropped).
  void clear();
  // This table, empty before, now holds exactly `other`'s routes and versions (every shown
  // service reported changed). What a merged table does with the first directory's snapshot:
  // one copy instead of an insert per route.
  void assign_routes_of(const ReplicaTable& other);

  std::uint64_t digest() const { return digest_; }  // wire::table_digest of every route held
  std::size_t size() const { return size_; }
  const wire::Route* find(std::string_view service, std::string_view instance) const;
  const Entry* find_entry(std::string_view service, std::string_view instance) const;
  std::vector<wire::Route> all_routes() const;  // ordered by (service, instance)

  // Names the services (within the view filter) whose routes changed since the last call, and
  // brings view() up to date for them. A service that lost its last route is named and absent
  // from view().
  std::vector<std::string> take_changes();
  // The view as of the last take_changes().
  const ServiceRoutes& view() const { return view_; }

 private:
  using Instances = std::map<std::string, Entry, std::less<>>;
  using Services = std::map<std::string, Instances, std::less<>>;

  void mark_changed(const std::string& service);
  void erase(Services::iterator sit, Instances::iterator it, Gone why, wire::Version version);
  void tell_replaced(const Services& old);
  bool shown(std::string_view service) const;

  Services services_;
  std::uint64_t digest_ = 0;
  std::size_t size_ = 0;
  std::set<std::string, std::less<>> filter_;
  std::set<std::string> changed_;
  ServiceRoutes view_;
  Listener* listener_ = nullptr;
  bool track_view_ = true;
  bool track_digest_ = true;
};

}  // namespace baker::sherlock
