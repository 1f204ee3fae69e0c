-- Tables read badly in a terminal manual (tbl cannot break their long cells: groff warns, lintian
-- reports it): each row becomes a definition, its first cell the term and the other cells the
-- definition, each led by its column's header.
local stringify = pandoc.utils.stringify

local function cell_blocks(cell)
  return cell.contents or cell
end

function Table(tbl)
  local headers = {}
  if tbl.head and tbl.head.rows and tbl.head.rows[1] then
    for i, cell in ipairs(tbl.head.rows[1].cells) do headers[i] = stringify(cell_blocks(cell)) end
  end
  local items = {}
  for _, body in ipairs(tbl.bodies or {}) do
    for _, row in ipairs(body.body) do
      local term = pandoc.utils.blocks_to_inlines(cell_blocks(row.cells[1]))
      local defs = {}
      for i = 2, #row.cells do
        local inlines = pandoc.utils.blocks_to_inlines(cell_blocks(row.cells[i]))
        if #inlines > 0 then
          if headers[i] and headers[i] ~= "" then
            table.insert(inlines, 1, pandoc.Space())
            table.insert(inlines, 1, pandoc.Emph({pandoc.Str(headers[i] .. ":")}))
          end
          table.insert(defs, pandoc.Para(inlines))
        end
      end
      table.insert(items, {term, {defs}})
    end
  end
  return pandoc.DefinitionList(items)
end
