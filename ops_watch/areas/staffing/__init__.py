"""Staffing (人员与门禁): the [staffing] shifts and calendar, the staff registry, door events and handover sheets
as evidence, who was on site shift by shift, the staffing checks and indicators, the report section, the
`staffing` commands, and the door-polling job."""
