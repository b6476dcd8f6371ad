// The wire format and the state machines of the coordinator and worker live here.
