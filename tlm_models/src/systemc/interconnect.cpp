#include "txsim/tlm/systemc/interconnect.h"

#include <cmath>
#include <stdexcept>

namespace txsim::hw {

using sc_core::sc_time;
using sc_core::SC_NS;

namespace {

int mesh_width(const Platform& p) { return static_cast<int>(std::ceil(std::sqrt(static_cast<double>(p.routers())))); }

std::string mesh_link(int a, int b) { return "link_" + std::to_string(a) + "_" + std::to_string(b); }

int tree_levels(int tiles) {
  int levels = 0;
  while ((1 << levels) < tiles) ++levels;
  return levels;
}

}  // namespace

Interconnect::Interconnect(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records)
    : Station(name, p, UnitKind::Link, records, -1) {
  switch (p.noc.kind) {
    case NocKind::Bus: link("bus"); break;
    case NocKind::Mesh: {
      const int routers = p.routers(), w = mesh_width(p);
      for (int r = 0; r < routers; ++r) {
        const int x = r % w;
        if (x + 1 < w && r + 1 < routers) link(mesh_link(r, r + 1)), link(mesh_link(r + 1, r));
        if (r + w < routers) link(mesh_link(r, r + w)), link(mesh_link(r + w, r));
      }
      break;
    }
    case NocKind::HTree:
      for (int level = 0; level < tree_levels(p.tiles); ++level)
        for (int i = 0; i < ((p.tiles - 1) >> level) + 1; ++i) {
          link("up_" + std::to_string(level) + "_" + std::to_string(i));
          link("down_" + std::to_string(level) + "_" + std::to_string(i));
        }
      break;
  }
}

void Interconnect::link(const std::string& name) { links_.emplace(name, add_unit(name, UnitKind::Link)); }

std::vector<int> Interconnect::route(int from, int to) const {
  std::vector<std::string> names;
  switch (p_.noc.kind) {
    case NocKind::Bus: names.push_back("bus"); break;
    case NocKind::Mesh: {
      const int w = mesh_width(p_);
      int a = from / p_.noc.tiles_per_router;
      const int b = to / p_.noc.tiles_per_router;
      while (a % w != b % w) {  // X first, then Y
        const int n = a + (b % w > a % w ? 1 : -1);
        names.push_back(mesh_link(a, n));
        a = n;
      }
      while (a != b) {
        const int n = a + (b > a ? w : -w);
        names.push_back(mesh_link(a, n));
        a = n;
      }
      break;
    }
    case NocKind::HTree: {
      int levels = 0;
      for (int a = from, b = to; a != b; a >>= 1, b >>= 1) ++levels;
      for (int k = 0; k < levels; ++k) names.push_back("up_" + std::to_string(k) + "_" + std::to_string(from >> k));
      for (int k = levels - 1; k >= 0; --k) names.push_back("down_" + std::to_string(k) + "_" + std::to_string(to >> k));
      break;
    }
  }
  std::vector<int> out;
  for (const std::string& n : names) {
    auto it = links_.find(n);
    if (it == links_.end()) throw std::logic_error("Interconnect: no link " + n + " on the route from tile " + std::to_string(from) +
                                                   " to " + std::to_string(to));
    out.push_back(it->second);
  }
  return out;
}

sc_time Interconnect::serve(Job& j, sc_time at) {
  const std::vector<int> links = route(j.from, j.to);
  j.cost = noc_cost(p_, j.bytes, static_cast<int>(links.size()));
  if (j.bytes == 0) return at;
  const double flits = std::ceil(static_cast<double>(j.bytes) / p_.noc.link_bytes);
  const sc_time hold_time(flits * p_.noc.hop_ns, SC_NS), hop(p_.noc.hop_ns, SC_NS);
  sc_time head = at, end = at;
  for (int l : links) {
    end = hold(l, flits * p_.noc.hop_ns, j, head);
    head = end - hold_time + hop;  // the head moves on one hop after it started on this link
  }
  return end;
}

}  // namespace txsim::hw
