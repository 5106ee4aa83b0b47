"""Budget (预算执行): the [budget] terms, budget events and indicator explanations as evidence, the execution
rate and forecast, its checks and commands."""
