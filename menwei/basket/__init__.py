"""The shopping basket: chain orders from the group chat, shopping lists, buying, packing, money, handoff."""
