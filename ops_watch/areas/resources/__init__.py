"""Resources (资源使用): the inventory and utilization as evidence, hourly roll-ups, idle and oversized
resources, the reclaim list, the report section and the `resources` commands."""
