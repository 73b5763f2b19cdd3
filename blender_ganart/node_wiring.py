"""Where a generated image goes: which material, which Image Texture node, which link.

Split in two on purpose: `find_*`/`plan_*` only look and raise TargetError, so the operator can
refuse before anything is generated or created; `apply_*` then makes the changes. That is how a
failure leaves no half-made materials or nodes behind. Only the 'Base Color' input name is used,
which is the same from Blender 2.8 to 4.x.
"""

from dataclasses import dataclass

import bpy

from .errors import GanArtError

BASE_COLOR = "Base Color"
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


def apply_images(plan: Target, images: list) -> object:
    """Puts images[0] on the Base Color (or into the chosen node) and any variations in nodes
    beside it; reuses nodes that already show these images. Returns the material."""
    material = plan.material or _new_material(plan.obj, images[0].name)
    tree = _node_tree(material)
    if plan.node_name:
        node = tree.nodes[plan.node_name]
        node.image = images[0]
    else:
        bsdf = _principled(tree, material.name)
        node = _image_node(tree, images[0], bsdf)
        if not any(link.from_node == node for link in bsdf.inputs[BASE_COLOR].links):
            tree.links.new(node.outputs["Color"], bsdf.inputs[BASE_COLOR])
    for image in images[1:]:  # variations: a column under the first, for the user to swap in
        _image_node(tree, image, node, beside=False)
    return material


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
    for node in tree.nodes:
        if node.type == "TEX_IMAGE" and node.image == image:
            return node
    node = tree.nodes.new("ShaderNodeTexImage")
    node.image = image
    node.location = _free_spot(tree, node, neighbour, beside)
    return node


def _free_spot(tree, new_node, neighbour, beside: bool):
    """Next to the neighbour, moved down until the node's box touches no other node's box."""
    width, height = IMAGE_NODE_SIZE
    x = neighbour.location.x - (width + NODE_GAP * 2 if beside else 0)
    y = neighbour.location.y
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
