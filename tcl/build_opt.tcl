# build_opt.tcl: which steps build_prj.tcl runs (1 = run). Vitis HLS reads its
# options from here; for Vivado HLS the command line "synth=1 ..." wins.
array set opt {
    reset      {{ opt.reset }}
    csim       {{ opt.csim }}
    synth      {{ opt.synth }}
    cosim      {{ opt.cosim }}
    validation {{ opt.validation }}
    export     {{ opt.export }}
    evaluate   {{ opt.evaluate }}
    vsynth     {{ opt.vsynth }}
    fifo_opt   {{ opt.fifo_opt }}
}
