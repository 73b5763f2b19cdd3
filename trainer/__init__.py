"""Trains the add-on's texture generator on a folder of texture images and exports a model file.

Run `python -m trainer --help` (or `ganart-train --help`). The generator trained here is
`blender_ganart.core.network.Generator` itself: there is exactly one generator definition.
"""
