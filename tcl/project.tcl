# project.tcl: the settings every script of the {{ top }} project shares.
# Written by qforge from its `project.tcl` template; build_prj.tcl and
# vivado_synth.tcl source it, so a change of part or clock is made here once.
set project_name "{{ top }}"
set prj_dir "{{ project_name }}"
set backend "{{ backend }}"
set part "{{ part }}"
set clock_period {{ clock_period }}
set clock_uncertainty {{ clock_uncertainty }}
set io_type "{{ io_type }}"
set version "{{ version }}"
set maximum_size {{ maximum_size }}
