#include "txsim/tlm/systemc/timed.h"

namespace txsim::hw {

Chip::Chip(sc_core::sc_module_name name, const Platform& p)
    : sc_core::sc_module(name), controller("controller", p), noc("noc", p, controller.unit_records()),
      buffer("global_buffer", p, controller.unit_records()), offchip("offchip", p, controller.unit_records()),
      gradient_unit("gradient_unit", p, controller.unit_records()) {
  for (int t = 0; t < p.tiles; ++t) {
    tiles.push_back(std::make_unique<Tile>(("tile" + std::to_string(t)).c_str(), p, controller.unit_records(), t));
    controller.tile_port.bind(tiles.back()->socket);
    controller.watch(*tiles.back());
  }
  controller.noc_port.bind(noc.socket);
  controller.buffer_port.bind(buffer.socket);
  controller.offchip_port.bind(offchip.socket);
  controller.gradient_port.bind(gradient_unit.socket);
  for (const Station* s : std::initializer_list<const Station*>{&noc, &buffer, &offchip, &gradient_unit}) controller.watch(*s);
}

void Chip::set_trace(trace::TraceSink* sink, int batches) {
  controller.set_trace(sink, batches);
  for (auto& t : tiles) t->set_trace(sink);
  noc.set_trace(sink);
  buffer.set_trace(sink);
  offchip.set_trace(sink);
  gradient_unit.set_trace(sink);
}

std::vector<LayerShape> layer_shapes(nn::Network& net) {
  std::vector<LayerShape> out;
  for (nn::WeightCore* c : net.cores())
    out.push_back({c->analog(), c->in(), c->out(), c->crossbars(), c->in_array_update()});
  return out;
}

}  // namespace txsim::hw
