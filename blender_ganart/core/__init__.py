"""The add-on's compute core: model files, both runtimes, synthesis, derived maps, the job runner.

Nothing here imports `bpy` (tests/test_core_no_bpy.py imports every module with `bpy` made
unimportable), so the trainer, the benchmarks and plain-Python scripts run the very code the add-on
ships, and the Blender-facing modules one level up stay thin.
"""
