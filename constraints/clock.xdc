# Clock of {{ top }}: {{ clock_period }} ns on the HLS clock port. Written by qforge.
create_clock -period {{ clock_period }} -name default [get_ports ap_clk]
