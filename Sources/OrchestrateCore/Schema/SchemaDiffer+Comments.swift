/// The differ's last phase: comments, joined to the change that created their object or changes of their own.
extension SchemaDiff {
    mutating func setComments() {
        for (name, schema) in new.schemas.sorted(by: { $0.key < $1.key }) {
            let before = old.schemas[name]
            addComment(
                "schema \(name)", target: "SCHEMA \(name)", schema.comment, before: before?.comment,
                created: before == nil)
        }
        for (name, ext) in new.extensions.sorted(by: { $0.key < $1.key }) {
            let before = old.extensions[name]
            addComment(
                "extension \(name)", target: "EXTENSION \(name)", ext.comment, before: before?.comment,
                created: before == nil)
        }
        for (key, type) in new.enums.sorted(by: { $0.key < $1.key }) {
            let before = old.enums[key]
            addComment(
                "enum \(key)", target: "TYPE \(key)", type.comment, before: before?.comment,
                created: before == nil || recreatedEnums.contains(key))
        }
        for (key, domain) in new.domains.sorted(by: { $0.key < $1.key }) {
            let before = old.domains[key]
            addComment(
                "domain \(key)", target: "DOMAIN \(key)", domain.comment, before: before?.comment,
                created: before == nil || recreatedDomains.contains(key))
        }
        for (key, type) in new.compositeTypes.sorted(by: { $0.key < $1.key }) {
            let before = old.compositeTypes[key]
            addComment(
                "type \(key)", target: "TYPE \(key)", type.comment, before: before?.comment, created: before == nil)
        }
        for (key, sequence) in new.sequences.sorted(by: { $0.key < $1.key }) {
            let before = old.sequences[key]
            addComment(
                "sequence \(key)", target: "SEQUENCE \(key)", sequence.comment, before: before?.comment,
                created: before == nil)
        }
        for (key, table) in new.tables.sorted(by: { $0.key < $1.key }) {
            tableComments(key, table)
        }
        for (key, index) in new.indexes.sorted(by: { $0.key < $1.key }) {
            let before = old.indexes[key]
            addComment(
                "index \(key)", target: "INDEX \(key)", index.comment, before: before?.comment,
                created: createdAt["index \(key)"] != nil)
        }
        for (key, view) in new.views.sorted(by: { $0.key < $1.key }) {
            addComment(
                Self.viewKey(view), target: "\(view.materialized ? "MATERIALIZED VIEW" : "VIEW") \(key)",
                view.comment, before: old.views[key]?.comment, created: createdViews.contains(key))
        }
        for (key, function) in new.functions.sorted(by: { $0.key < $1.key }) {
            let object = Self.functionKey(function)
            addComment(
                object, target: "\(function.isProcedure ? "PROCEDURE" : "FUNCTION") \(function.signature)",
                function.comment, before: old.functions[key]?.comment,
                created: old.functions[key] == nil || recreatedFunctions.contains(key))
        }
        for (key, trigger) in new.triggers.sorted(by: { $0.key < $1.key }) {
            addComment(
                "trigger \(key)", target: "TRIGGER \(trigger.name) ON \(trigger.qualifiedTable)", trigger.comment,
                before: old.triggers[key]?.comment, created: createdAt["trigger \(key)"] != nil)
        }
    }

    /// A table's comment and those of its columns and constraints.
    private mutating func tableComments(_ key: String, _ table: SchemaModel.Table) {
        let tableCreated = createdTables.contains(key)
        let before = tableCreated ? nil : old.tables[key]
        addComment(
            "table \(key)", target: "TABLE \(key)", table.comment, before: before?.comment, created: tableCreated)
        for column in table.columns where !column.inherited || column.comment != nil {
            let object = "column \(key).\(column.name)"
            let previous = before?.column(column.name)
            let recreated = column.generated != nil && previous != nil && previous?.generated != column.generated
            addComment(
                object, attachTo: tableCreated ? "table \(key)" : object, target: "COLUMN \(key).\(column.name)",
                column.comment, before: previous?.comment, created: previous == nil || recreated)
        }
        for (name, constraint) in table.constraints.sorted(by: { $0.key < $1.key }) {
            let object = "constraint \(key).\(name)"
            addComment(
                object, target: "CONSTRAINT \(name) ON \(key)", constraint.comment,
                before: before?.constraints[name]?.comment, created: createdAt[object] != nil)
        }
    }
}
