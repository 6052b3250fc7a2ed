// txsim time: a recorded run's activity (txsim train --record-activity, or the Python front end)
// charged on one or more platforms by the timed model, each in a process of its own.
#pragma once

namespace txsim::app {
int time_main(int argc, char** argv);
}
