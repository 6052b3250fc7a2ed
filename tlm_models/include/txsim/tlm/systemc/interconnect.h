// The interconnect as its links, each a unit that keeps when it is free: a mesh of routers
// (tiles_per_router tiles on each) with a link each way between neighbours and XY routing, an
// H-tree (a link up and one down per tree edge), or one bus. A transfer's head crosses one link
// per hop_ns; each link of its route is held for the transfer's flits (virtual cut-through: a head
// that finds a link busy waits at that router). Unloaded this is noc_cost's (hops + flits - 1) x
// hop_ns; two transfers over one link take the sum of their times, over disjoint links the longer.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "txsim/tlm/systemc/station.h"

namespace txsim::hw {

class Interconnect final : public Station {
 public:
  Interconnect(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records);
  // The links a transfer from tile `from` to tile `to` crosses, in order (unit_port indices).
  std::vector<int> route(int from, int to) const;

 protected:
  sc_core::sc_time serve(Job& job, sc_core::sc_time at) override;

 private:
  void link(const std::string& name);
  std::map<std::string, int> links_;
};

}  // namespace txsim::hw
