"""Where a generated image goes: which material, which Image Texture node, which link.

Split in two on purpose: `find_*`/`plan_*` only look and raise TargetError, so the operator can
refuse before anything is generated or created; `apply_*` then makes the changes. That is how a
failure leaves no half-made materials or nodes behind.

Derived maps (`apply_images(..., maps=...)`) are wired by `_wire_maps`: roughness straight into
Roughness, normal through a Normal Map node into Normal, height through a Displacement node into
the Material Output, ambient occlusion multiplied into the colour by a Mix node before Base Color.
Sockets are found by identifier or name (`_socket`), and only names that Blender 3.4 to 4.5 share
are used: 'Base Color', 'Roughness', 'Normal', 'Displacement', the Mix node's 'A_Color'/'B_Color'
identifiers (the ShaderNodeMix of 3.4+; its plain names 'A'/'B' repeat for every data type).
The helper nodes we add carry a custom property `ganart_map` and are found by it again, so
generating again, with the same or a new seed, reuses them instead of piling up copies.
"""

from dataclasses import dataclass

import bpy

from .core.errors import GanArtError

BASE_COLOR = "Base Color"
MAP_KEY = "ganart_map"  # custom property on the helper nodes we add (Normal Map, Displacement, Mix)
SOURCE_KEY = "ganart_source"  # on generated images (blender_output.py sets it)
MAP_COLUMN = 640.0  # with maps: image nodes this far left of the BSDF, helper nodes in between
HELPER_COLUMN = 300.0
NODE_GAP = 40  # blank space kept between the new node and its neighbours
IMAGE_NODE_SIZE = (240.0, 280.0)  # an Image Texture node's footprint; drawn sizes are not known in background mode


class TargetError(GanArtError):
    """No object, material or node can take the texture."""


@dataclass
class Target:
    """Where the result goes, decided before generating; nothing is created yet."""

    obj: object | None  # the object to give a new material, when `material` is None
    material: object | None
    node_name: str = ""  # the Image Texture node whose image gets replaced ('' = new/found node)


def plan_target(target, destination: str = "NEW_NODE", context=None) -> Target:
    """target: an Object, a Material or None (the active object). Raises TargetError."""
    context = context or bpy.context
    if target is None:
        target = getattr(context, "active_object", None) or getattr(context, "object", None)
        if target is None:
            raise TargetError("No active object: select a mesh to put the texture on.")
    if isinstance(target, bpy.types.Material):
        plan = Target(None, target)
    elif isinstance(target, bpy.types.Object):
        if target.type != "MESH":
            raise TargetError(f"'{target.name}' is a {target.type.lower()}, not a mesh: select a mesh.")
        plan = Target(target, target.active_material)
    else:
        raise TargetError(f"Cannot put a texture on {type(target).__name__}; give an Object or a Material.")
    if plan.material is not None and plan.material.is_grease_pencil:
        raise TargetError(f"'{plan.material.name}' is a Grease Pencil material; it has no Base Color to "
                          f"take a texture. Choose a mesh's material.")
    if destination == "SELECTED_NODE":
        node = _active_image_node(plan.material)
        if node is None:
            raise TargetError("Select an Image Texture node in the active material to replace its image.")
        plan.node_name = node.name
    elif destination == "NEW_NODE":
        if plan.material is not None and plan.material.use_nodes and plan.material.node_tree is not None:
            _principled(plan.material.node_tree, plan.material.name, create=False)  # raises if none reaches
    else:
        raise TargetError(f"Unknown destination '{destination}'.")
    return plan


def apply_images(plan: Target, images: list, maps: list | None = None, options=None) -> object:
    """Puts images[0] on the Base Color (or into the chosen node) and any variations in nodes
    beside it; reuses nodes that already show these images. Returns the material.

    maps: per image, {map name: image} (derived_maps.MAP_NAMES); the first image's maps are wired
    (to the BSDF that reaches the output; with Selected Node only when there is one), a
    variation's go in a row beside its colour node. options: derived_maps.MapOptions (strengths,
    and whether the colour is linked to Base Color).
    """
    maps = maps or [{} for _ in images]
    material = plan.material or _new_material(plan.obj, images[0].name)
    tree = _node_tree(material)
    if plan.node_name:
        node = tree.nodes[plan.node_name]
        node.image = images[0]
        bsdf = _principled(tree, material.name, create=False) if maps[0] else None
    else:
        bsdf = _principled(tree, material.name)
        if maps[0]:
            node = _find_image_node(tree, images[0]) or _new_node(
                tree, "ShaderNodeTexImage", bsdf.location.x - MAP_COLUMN, bsdf.location.y, image=images[0])
        else:
            node = _image_node(tree, images[0], bsdf)
        if options is None or options.color:
            _link_color(tree, node, bsdf, through_ao=bool(options is not None and options.ao))
    if bsdf is not None and maps[0]:
        _wire_maps(tree, bsdf, node, maps[0], options, material)
    elif maps[0]:  # Selected Node in a material without a BSDF that shows: the maps beside the node
        _image_row(tree, node, maps[0])
    for image, extra in zip(images[1:], maps[1:]):  # variations: a column under the first
        variation = _image_node(tree, image, node, beside=False)
        _image_row(tree, variation, extra)
    return material


def _link_color(tree, node, bsdf, through_ao: bool) -> None:
    """Colour → Base Color; through our AO Mix node when one already feeds Base Color and AO is
    wanted (without AO the colour goes straight to Base Color again, bypassing the Mix node)."""
    base = bsdf.inputs[BASE_COLOR]
    mix = next((link.from_node for link in base.links if link.from_node.get(MAP_KEY) == "ao"), None)
    target = _socket(mix.inputs, "A_Color", "Color1") if mix is not None and through_ao else base
    if not any(link.from_node == node for link in target.links):
        tree.links.new(node.outputs["Color"], target)


def _wire_maps(tree, bsdf, color_node, maps: dict, options, material) -> None:
    """Each derived map into its place; the helper nodes and image nodes of an earlier
    generation are reused (their image is replaced), new ones go in the columns left of the BSDF."""
    x_image = color_node.location.x
    x_helper = bsdf.location.x - HELPER_COLUMN
    y = color_node.location.y
    output = _active_output(tree)
    if "ao" in maps:
        mix = _helper(tree, "ao", "ShaderNodeMix", x_helper, y, data_type="RGBA", blend_type="MULTIPLY")
        _socket(mix.inputs, "Factor_Float", "Fac").default_value = 1.0  # the strength is in the map
        a, b = _socket(mix.inputs, "A_Color", "Color1"), _socket(mix.inputs, "B_Color", "Color2")
        linked_to_base = any(link.from_node == color_node for link in bsdf.inputs[BASE_COLOR].links)
        if linked_to_base or a.is_linked:
            tree.links.new(color_node.outputs["Color"], a)
            tree.links.new(_socket(mix.outputs, "Result_Color", "Color"), bsdf.inputs[BASE_COLOR])
        _map_image(tree, b, maps["ao"], x_image, y)
    if "roughness" in maps:
        _map_image(tree, _socket(bsdf.inputs, "Roughness"), maps["roughness"], x_image, y)
    if "normal" in maps:
        normal_map = _helper(tree, "normal", "ShaderNodeNormalMap", x_helper, y, space="TANGENT")
        _socket(normal_map.inputs, "Strength").default_value = 1.0  # the strength is in the map
        tree.links.new(_socket(normal_map.outputs, "Normal"), _socket(bsdf.inputs, "Normal"))
        _map_image(tree, _socket(normal_map.inputs, "Color"), maps["normal"], x_image, y)
    if "height" in maps and output is not None:
        displacement = _helper(tree, "height", "ShaderNodeDisplacement", x_helper, y, space="OBJECT")
        _socket(displacement.inputs, "Midlevel").default_value = 0.5
        _socket(displacement.inputs, "Scale").default_value = options.height_strength if options else 0.02
        tree.links.new(_socket(displacement.outputs, "Displacement"), _socket(output.inputs, "Displacement"))
        _map_image(tree, _socket(displacement.inputs, "Height"), maps["height"], x_image, y)
        # With a normal map the relief already shades; the height then moves geometry only (where
        # the mesh is subdivided). Without one, 'BOTH' displaces and bumps the rest. 4.1 moved the
        # setting from material.cycles to the material.
        method = "DISPLACEMENT" if "normal" in maps else "BOTH"
        owner = material if hasattr(material, "displacement_method") else getattr(material, "cycles", None)
        if owner is not None:
            owner.displacement_method = method


def _map_image(tree, socket, image, x: float, y: float):
    """The image node feeding `socket`: the one already there when it shows a generated image
    (regenerating reuses it), else the node showing `image`, else a new one at (x, y) or below."""
    current = next((link.from_node for link in socket.links), None)
    if current is not None and current.type == "TEX_IMAGE" and (
            current.image is None or current.image == image or current.image.get(SOURCE_KEY)):
        node = current
        node.image = image
    else:
        node = _find_image_node(tree, image) or _new_node(tree, "ShaderNodeTexImage", x, y, image=image)
    tree.links.new(node.outputs["Color"], socket)
    return node


def _helper(tree, key: str, kind: str, x: float, y: float, **settings):
    node = next((n for n in tree.nodes if n.get(MAP_KEY) == key), None)
    if node is None:
        node = _new_node(tree, kind, x, y)
        node[MAP_KEY] = key
    for name, value in settings.items():
        setattr(node, name, value)
    return node


def _image_row(tree, node, maps: dict) -> None:
    """A variation's maps, unlinked, in a row to the left of its colour node (for swapping in)."""
    for image in maps.values():
        node = _image_node(tree, image, node)


def _socket(sockets, *keys):
    """The socket whose identifier, else whose name, is the first of `keys` found (enabled
    sockets first: ShaderNodeMix has a disabled 'A' for every data type)."""
    for key in keys:
        for match in (lambda s: s.identifier == key, lambda s: s.name == key):
            found = [s for s in sockets if match(s)]
            if found:
                return next((s for s in found if getattr(s, "enabled", True)), found[0])
    raise KeyError(f"none of the sockets {keys} in {[s.name for s in sockets]}")


def _find_image_node(tree, image):
    return next((n for n in tree.nodes if n.type == "TEX_IMAGE" and n.image == image), None)


def _new_node(tree, kind: str, x: float, y: float, image=None):
    node = tree.nodes.new(kind)
    if image is not None:
        node.image = image
    node.location = _free_spot_at(tree, node, x, y)
    return node


def _active_image_node(material):
    if material is None or not material.use_nodes or material.node_tree is None:
        return None
    node = material.node_tree.nodes.active
    if node is not None and node.type == "TEX_IMAGE" and node.select:
        return node
    return None


def _new_material(obj, name: str):
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    if obj.data.materials:
        obj.material_slots[obj.active_material_index].material = material
    else:
        obj.data.materials.append(material)
    return material


def _node_tree(material):
    if not material.use_nodes:
        material.use_nodes = True
    return material.node_tree


def _principled(tree, material_name: str, create: bool = True):
    """The Principled BSDF whose shading reaches the active Material Output (the nearest one
    upstream of its Surface, through mix shaders and any other nodes).

    A material whose output shows nothing gets a new BSDF linked to it (when `create`); one whose
    output shows something without a Principled BSDF raises TargetError: wiring into a BSDF that
    is not rendered would report success and change nothing the user sees.
    """
    output = _active_output(tree)
    surface = output.inputs["Surface"] if output is not None else None
    if surface is not None and surface.is_linked:
        bsdf = _upstream_principled(surface)
        if bsdf is None:
            raise TargetError(f"No Principled BSDF feeds the Material Output of '{material_name}'; "
                              f"connect one, or use Selected Node to replace an image.")
        return bsdf
    if not create:
        return None
    if output is None:
        output = tree.nodes.new("ShaderNodeOutputMaterial")
        output.location = (300.0, 0.0)
    bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.location = (output.location.x - 300.0, output.location.y)
    tree.links.new(bsdf.outputs[0], output.inputs["Surface"])
    return bsdf


def _active_output(tree):
    outputs = [n for n in tree.nodes if n.type == "OUTPUT_MATERIAL"]
    return next((n for n in outputs if n.is_active_output), outputs[0] if outputs else None)


def _upstream_principled(socket):
    """Breadth-first through the links into `socket`; muted links and nodes are not followed."""
    queue, seen = [socket], set()
    while queue:
        for link in queue.pop(0).links:
            node = link.from_node
            if link.is_muted or node.name in seen or node.mute:
                continue
            seen.add(node.name)
            if node.type == "BSDF_PRINCIPLED":
                return node
            queue.extend(i for i in node.inputs if i.is_linked)
    return None


def _image_node(tree, image, neighbour, beside: bool = True):
    """The Image Texture node showing `image`, or a new one in free space left of `neighbour`
    (beside) or under it."""
    node = _find_image_node(tree, image)
    if node is not None:
        return node
    node = tree.nodes.new("ShaderNodeTexImage")
    node.image = image
    node.location = _free_spot(tree, node, neighbour, beside)
    return node


def _free_spot(tree, new_node, neighbour, beside: bool):
    """Next to the neighbour, moved down until the node's box touches no other node's box."""
    x = neighbour.location.x - (IMAGE_NODE_SIZE[0] + NODE_GAP * 2 if beside else 0)
    return _free_spot_at(tree, new_node, x, neighbour.location.y)


def _free_spot_at(tree, new_node, x: float, y: float):
    """(x, y), moved down until the node's box touches no other node's box."""
    width, height = IMAGE_NODE_SIZE
    boxes = [_box(n) for n in tree.nodes if n != new_node and n.type != "FRAME"]
    while any(_overlaps((x, y - height, x + width, y), box) for box in boxes):
        y -= NODE_GAP
    return (x, y)


def _box(node):
    width = node.dimensions.x or node.width
    height = node.dimensions.y or IMAGE_NODE_SIZE[1]
    return (node.location.x, node.location.y - height, node.location.x + width, node.location.y)


def _overlaps(a, b) -> bool:
    gap = NODE_GAP / 2
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap
